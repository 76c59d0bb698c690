"""Power and GPU work: the site controller (policy, allocator and router) and its agent."""
