"""Consent ledger, consent conversations and proactive notifications (issue 5;
R-7, R-8, R-13 and the consent part of R-15).

For other modules:
  gate.consent_gate(...)   ask for personal-data consent inside a flow (effect gate.RecordConsent)
  runtime.consent.on_personal_data_withdrawn(...)   delete data when its consent is withdrawn
  notifications.notify(runtime, client_id, category, text, basis=…)   send a notification
  campaigns.create_campaign / launch_campaign   (operator console)
  export.client_history(redis, client_id)   the client's consent history
"""
