import builtins
builtins.ZTH_SHADOW_RAN = True
