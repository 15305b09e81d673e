"""Filters: masks that remove candidates a user must not or need not see."""
