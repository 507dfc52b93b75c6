"""The ranking core: plain numpy/scipy/implicit, no Django. Arrays in, arrays out.

- ``matrix``: id indexes and the user × item confidence matrix
- ``als``: ALS training (implicit) and the saved factor model (factors + id maps + version)
- ``blend``: per-source scores → one score, weights shifting with user and item history
- ``geo``: distances and distance decay
- ``diversity``: MMR re-ranking over embeddings
- ``explain``: evidence behind a recommended item
"""
