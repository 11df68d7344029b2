"""Where things are: areas and their versions, boundary files checked, published and
exported, the registry of indexes and the geocoder (points, door codes, addresses,
batches), and the misfit between layers."""
