"""WorkDataHub: pandas ETL with one trustworthy failed-records log per run."""

__version__ = "0.1.0"
