"""Per-well-type views for webd: `GET /api/wells/{well}/view` (views.py) and the data
each type's page module (static/js/wells/<type>.js) draws."""
