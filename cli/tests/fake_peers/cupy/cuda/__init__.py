class Device:
    def __init__(self, id=0):
        self.id = id
        self.compute_capability = "90"

    def synchronize(self):
        pass
