"""Off-policy evaluation: what a policy's click rate would have been, from another policy's log.

``estimators`` holds IPS, SNIPS, DR and DM with bootstrap intervals; ``open_bandit`` checks them on
the real Open Bandit logs against a click rate measured on-policy (``feedmix eval ope``).
"""
