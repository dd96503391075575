"""What every stage shares: the canonical frames and constants (:mod:`.schema`), the exception
types (:mod:`.errors`), the object every reader returns (:mod:`.recording`), the analysis rules
(:mod:`.rules`), the input checks (:mod:`.validate`) and the one way files are written
(:mod:`.outputs`). Nothing here reads a file or analyses data."""
