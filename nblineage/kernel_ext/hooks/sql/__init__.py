"""SQL lineage: parsing statements (``parsing``), SQLAlchemy engine events (``engine``), pandas SQL (``pandas``)."""
