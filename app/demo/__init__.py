"""The demo's protected work: an action that needs the owner at the controls, now."""
