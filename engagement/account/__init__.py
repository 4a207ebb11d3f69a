"""Who the account is and what its meetings show: facts, people, domains, signals, changes."""
