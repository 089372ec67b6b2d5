"""The Emperor: one supervisor for many apps, each a vassal running as its own satrap master."""
