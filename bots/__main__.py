"""`python -m bots` is `python -m bots.slack`: the Slack bot over Socket Mode."""
import sys

from bots.slack import main

sys.exit(main())
