"""The demo city: generated deterministically as files, loaded into a database, its
history made by the same loop the API drives, and demo users of each role."""
