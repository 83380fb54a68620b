"""How the Pulumi engine marks special values in serialized properties (pulumi.runtime.rpc).

Kept here, without importing pulumi, so readers of review documents (compare) stay light.
"""

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
