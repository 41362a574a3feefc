"""Custom Rasa 3.6 NLU components of this project.

Referenced from nlu/config.yml as ``components.<module>.<Class>``; this works when
Rasa runs with ``nlu/`` as working directory or with ``nlu/`` on PYTHONPATH.
"""
