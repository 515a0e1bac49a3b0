"""A client of bbauth's REST API that holds a key and speaks DPoP (``bbauth client``)."""
