"""Blenders: the last columnar stage, mixing items of another kind into the selected page (ads into a
feed) as rows of the same batch, under the deadline, trace and failure policy of every stage."""
