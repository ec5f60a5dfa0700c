print("chancery")
