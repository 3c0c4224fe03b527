"""Every write and business rule about accounts, one module per area.

``users``: creating and changing accounts. ``auth``: signing in, tokens, codes.
``console``: roles, menus, departments and logs for the admin console.
"""
