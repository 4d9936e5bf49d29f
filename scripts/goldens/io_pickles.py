"""Pickles one plain object with every protocol (0-5) for the pickle VM test: writes
tests/goldens/io_pickles.json with base64 pickles and the object as JSON (tuples as lists)."""
import base64
import collections
import json
import os
import pickle

obj = {
    'ints': [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, -(2 ** 40)],
    'floats': [0.0, -2.5, 1e-300, 3.141592653589793],
    'str': ['', 'ascii', 'h\u00e9llo \u2713 \U0001F600', 'line\nbreak'],
    'consts': [None, True, False],
    'tuple0': (), 'tuple1': (1,), 'tuple2': (1, 'a'), 'tuple3': (1, 2, 3), 'tuple5': (1, 2, 3, 4, 5),
    'nested': {'k': [{'z': 1}, [[]]], '2': collections.OrderedDict([('b', 1), ('a', 2)])},
    'long_list': list(range(1001)),  # more than one APPENDS batch (1000 items each)
}
shared = [1, 2]
obj['memo'] = [shared, shared]  # the same list twice: exercises PUT/GET

out = {'expected': json.loads(json.dumps(obj)), 'pickles': {}}
for p in range(0, pickle.HIGHEST_PROTOCOL + 1):
    out['pickles'][str(p)] = base64.b64encode(pickle.dumps(obj, protocol=p)).decode()
path = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'io_pickles.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('protocols', list(out['pickles']))
