"""`ganforge explore`: the two-player game live in the browser (in the spirit of GAN Lab).

  controls  what the page may set and the ganforge config it stands for
  grid      exact p_data / p_g masses on a grid of cells, JSD and KL between them
  scene     what the page draws: samples, G's manifold, D's heat map, gradients, Figure 1
  session   the game: a ganforge family trained step by step, its messages, "save as run"
  server    the ASGI app (starlette, uvicorn, websockets) and its static page

The server needs the `explore` extra: pip install -e ".[explore]".
"""
