"""Paying state fees in the conversation (R-12, issue 6).

catalogue     fee catalogue (fees.yaml) validated at load
uin           accrual id (УИН) with the Treasury's check digit
qr            payment QR code, GOST R 56042-2014
status        the order's status machine and the ways to pay (pure)
orders        payment orders in Redis
receipts      what the client is told about an order (pure)
providers     the interface every way to pay implements (QR, card, Telegram)
yookassa      card payments through a gateway with the YooKassa API shape
telegram_payments  Telegram Payments: invoice, pre-checkout, success, and
              `connect` to the Telegram channel
service       creating orders, starting payments, recording confirmations
flow          the conversation flow: typed state, effects and outcomes, pure steps
effects       the flow's effects performed (orders, payments), reporting outcomes
conversation  the intents pay_fee (start with the fee from context) and payment_status
web           HTTP routes: QR image, YooKassa webhook, return page
reconcile     background job polling pending payments
module        plug-in point: install / routes / background
"""
