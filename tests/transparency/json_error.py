# imports: json
# A traceback through the standard library's frames.
import json

print(json.dumps({"ok": [1, 2]}))
json.loads('{"broken": ')
