"""The domain, pure: draws, rules, campaigns, periods, the chain, the play decision.

Standard library only, so an auditor can import it without Flask or a database driver.
"""
