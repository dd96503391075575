"""``python -m soleus_analysis`` runs the ``soleus`` command."""

from .app.cli import main

if __name__ == "__main__":
    main(prog_name="soleus")
