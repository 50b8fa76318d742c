"""floorsync"""
