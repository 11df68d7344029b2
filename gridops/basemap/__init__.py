"""The base map: the city's own streets and buildings drawn under the grids, so a map needs no internet and no
tile server, and the settings a page's map is drawn with (tiles, their datum, attribution)."""
