"""pdrun's built-in recipes; each module is a plugin shaped exactly like a third-party one."""
