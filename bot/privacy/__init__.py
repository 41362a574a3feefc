"""Personal data of a client: what withdrawal of a consent deletes, and the
erasure of everything on request (152-ФЗ art. 9, 14, 21; R-7, R-22, R-23).

  profile.remembered(profile, purpose, …)  the profile fields that keep personal data with the
                                       purpose it was collected for (a flow's Step.profile;
                                       what withdrawal reads)
  erasure.Eraser                       purge(client, purposes) on withdrawal;
                                       erase(client, …) everything, keeping only what the
                                       law requires, relinked to a pseudonym
  flow.ErasureFlow                     «удалите мои данные» → a clear confirmation → erasure
  module                               plugs both into the assistant (bot/modules.py)
  python -m bot.privacy erase <client id> --by <staff name>   the staff command

What is deleted and what is kept, and why: docs/SECURITY.md.
"""
