"""Places and routes: geocoding (online and offline), nearby contacts, route planning."""
