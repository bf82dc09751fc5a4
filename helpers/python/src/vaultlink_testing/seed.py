"""The seeded identities every fresh vaultlink has (crates/vaultlink-core/src/seed.rs; the README
lists them). The container module needs them: a container's `vaultlink env` is not at hand."""

TENANT_ID = "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90"
SUBSCRIPTION_ID = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
DEV_CLIENT_ID = "a9b8c7d6-e5f4-4321-9abc-def012345678"
DEV_CLIENT_SECRET = "vaultlink-dev-secret"
DEV_OBJECT_ID = "0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1"
MI_CLIENT_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
