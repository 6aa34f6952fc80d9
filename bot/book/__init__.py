"""The branch's yearly record book (台账) as a Word document, one branch or many.

- model: what a book says, as plain picklable data (built once, rendered in another process)
- yearly: the year's compliance per obligation (pure, over bot.rules.calendar)
- gather: the facts of many branches from the database in a few batched queries
- document, ooxml, images: the DOCX (python-docx; standard styles, East Asian fonts, TOC and
  PAGE fields), photos scaled down for embedding
- build: rendering off the event loop, photo downloads, size limits, the subtree ZIP and the
  spot check (`zhibu book` is bot/cli/book.py)
"""
