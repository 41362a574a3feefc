"""Paying state fees in the conversation (R-12, issue 6).

catalogue  fee catalogue (fees.yaml) validated at load
uin        accrual id (УИН) with the Treasury's check digit
qr         payment QR code, GOST R 56042-2014
orders     payment orders in Redis and their status machine
providers  the interface every way to pay implements (QR, card, Telegram)
yookassa   card payments through a gateway with the YooKassa API shape
telegram_payments  Telegram Payments pieces (invoice, pre-checkout, success)
service    creating orders, starting payments, recording confirmations
flow       the conversation flow (pure steps) and its effects
reconcile  background job polling pending payments
module     plug-in point: install / routes / background
"""
