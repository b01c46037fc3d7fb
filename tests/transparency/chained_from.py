# imports:
# raise ... from ...: "The above exception was the direct cause".
def load(d):
    try:
        return d["key"]
    except KeyError as e:
        raise ValueError("could not load") from e


load({})
