"""Sources and the database: reading what comes in, writing what goes out."""
