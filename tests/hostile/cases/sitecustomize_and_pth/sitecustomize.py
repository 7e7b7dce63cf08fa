import builtins
builtins.ZTH_HOOK_RAN = True
