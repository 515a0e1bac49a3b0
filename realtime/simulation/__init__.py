"""``bbauth simulate``: real Socket.IO clients replaying recorded people from public data sets.

``recordings`` turns the data sets into per-person event streams (timestamps as recorded),
``replay`` cuts a stream into paced batches, ``client`` is one simulated browser tab,
``accounts`` mints the accounts and sessions (operator-only, through the services) and
``runner`` drives many sessions at once and summarises what the server answered.
"""
