-- commlog's schema before versioned migrations (commit fda3d6a), from sqlite3 .schema
CREATE TABLE IF NOT EXISTS "user" ("id" INTEGER NOT NULL PRIMARY KEY, "email" VARCHAR(255) NOT NULL, "name" VARCHAR(255) NOT NULL, "role" VARCHAR(255) NOT NULL, "password_hash" VARCHAR(255) NOT NULL, "active" INTEGER NOT NULL, "phone" VARCHAR(255), "session_version" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "last_login_at" DATETIME);
CREATE UNIQUE INDEX "user_email" ON "user" ("email");
CREATE TABLE IF NOT EXISTS "apitoken" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "owner_id" INTEGER, "token_hash" VARCHAR(255) NOT NULL, "created_at" DATETIME NOT NULL, "last_used_at" DATETIME, "revoked_at" DATETIME, FOREIGN KEY ("owner_id") REFERENCES "user" ("id") ON DELETE SET NULL);
CREATE INDEX "apitoken_owner_id" ON "apitoken" ("owner_id");
CREATE UNIQUE INDEX "apitoken_token_hash" ON "apitoken" ("token_hash");
CREATE TABLE IF NOT EXISTS "client" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "email" VARCHAR(255), "phone" VARCHAR(255), "created_at" DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS "group" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "contact_email" VARCHAR(255), "contact_phone" VARCHAR(255), "created_at" DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS "backend" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "channel" VARCHAR(255) NOT NULL, "url" TEXT NOT NULL, "health" VARCHAR(255) NOT NULL, "health_since" DATETIME NOT NULL, "last_test_at" DATETIME, "last_error" TEXT, "failure_alert_emails" TEXT NOT NULL, "is_default" INTEGER NOT NULL, "fallback_id" INTEGER, "created_at" DATETIME NOT NULL, FOREIGN KEY ("fallback_id") REFERENCES "backend" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX "backend_name" ON "backend" ("name");
CREATE INDEX "backend_fallback_id" ON "backend" ("fallback_id");
CREATE INDEX "backend_channel_is_default" ON "backend" ("channel", "is_default");
CREATE TABLE IF NOT EXISTS "message" ("id" INTEGER NOT NULL PRIMARY KEY, "uid" VARCHAR(255) NOT NULL, "channel" VARCHAR(255) NOT NULL, "recipient" TEXT NOT NULL, "subject" TEXT NOT NULL, "body_text" TEXT NOT NULL, "body_html" TEXT, "kind" VARCHAR(255) NOT NULL, "language" VARCHAR(255), "sender_id" INTEGER, "client_id" INTEGER, "group_id" INTEGER, "user_id" INTEGER, "backend_id" INTEGER, "state" VARCHAR(255) NOT NULL, "state_reason" TEXT NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" DATETIME, "created_at" DATETIME NOT NULL, "queued_at" DATETIME, "sent_at" DATETIME, "resend_of_id" INTEGER, "resolved_by_id" INTEGER, "lease_owner" VARCHAR(255), "lease_until" DATETIME, "api_token_id" INTEGER, "idempotency_key" VARCHAR(255), "metadata" TEXT NOT NULL, FOREIGN KEY ("sender_id") REFERENCES "user" ("id") ON DELETE SET NULL, FOREIGN KEY ("client_id") REFERENCES "client" ("id") ON DELETE SET NULL, FOREIGN KEY ("group_id") REFERENCES "group" ("id") ON DELETE SET NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL, FOREIGN KEY ("backend_id") REFERENCES "backend" ("id") ON DELETE SET NULL, FOREIGN KEY ("resend_of_id") REFERENCES "message" ("id") ON DELETE SET NULL, FOREIGN KEY ("resolved_by_id") REFERENCES "message" ("id") ON DELETE SET NULL, FOREIGN KEY ("api_token_id") REFERENCES "apitoken" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX "message_uid" ON "message" ("uid");
CREATE INDEX "message_sender_id" ON "message" ("sender_id");
CREATE INDEX "message_client_id" ON "message" ("client_id");
CREATE INDEX "message_group_id" ON "message" ("group_id");
CREATE INDEX "message_user_id" ON "message" ("user_id");
CREATE INDEX "message_backend_id" ON "message" ("backend_id");
CREATE INDEX "message_resend_of_id" ON "message" ("resend_of_id");
CREATE INDEX "message_resolved_by_id" ON "message" ("resolved_by_id");
CREATE INDEX "message_api_token_id" ON "message" ("api_token_id");
CREATE INDEX "message_state_id" ON "message" ("state", "id");
CREATE INDEX "message_channel_id" ON "message" ("channel", "id");
CREATE INDEX "message_sender_id_id" ON "message" ("sender_id", "id");
CREATE INDEX "message_client_id_id" ON "message" ("client_id", "id");
CREATE INDEX "message_group_id_id" ON "message" ("group_id", "id");
CREATE INDEX "message_user_id_id" ON "message" ("user_id", "id");
CREATE INDEX "message_kind_id" ON "message" ("kind", "id");
CREATE INDEX "message_backend_id_id" ON "message" ("backend_id", "id");
CREATE INDEX "message_created_at" ON "message" ("created_at");
CREATE INDEX "message_sent_at" ON "message" ("sent_at");
CREATE INDEX "message_state_next_attempt_at" ON "message" ("state", "next_attempt_at");
CREATE INDEX "message_state_lease_until" ON "message" ("state", "lease_until");
CREATE UNIQUE INDEX "message_api_token_id_idempotency_key" ON "message" ("api_token_id", "idempotency_key");
CREATE TABLE IF NOT EXISTS "attempt" ("id" INTEGER NOT NULL PRIMARY KEY, "message_id" INTEGER NOT NULL, "number" INTEGER NOT NULL, "started_at" DATETIME NOT NULL, "finished_at" DATETIME, "outcome" VARCHAR(255), "error_type" VARCHAR(255), "smtp_code" INTEGER, "http_status" INTEGER, "response" TEXT, "traceback" TEXT, "worker" VARCHAR(255), "provider_id" VARCHAR(255), FOREIGN KEY ("message_id") REFERENCES "message" ("id") ON DELETE CASCADE);
CREATE INDEX "attempt_message_id" ON "attempt" ("message_id");
CREATE UNIQUE INDEX "attempt_message_id_number" ON "attempt" ("message_id", "number");
CREATE TABLE IF NOT EXISTS "event" ("id" INTEGER NOT NULL PRIMARY KEY, "created_at" DATETIME NOT NULL, "action" VARCHAR(255) NOT NULL, "message_id" INTEGER, "backend_id" INTEGER, "actor_id" INTEGER, "from_state" VARCHAR(255), "to_state" VARCHAR(255), "detail" TEXT NOT NULL, FOREIGN KEY ("message_id") REFERENCES "message" ("id") ON DELETE CASCADE, FOREIGN KEY ("backend_id") REFERENCES "backend" ("id") ON DELETE SET NULL, FOREIGN KEY ("actor_id") REFERENCES "user" ("id") ON DELETE SET NULL);
CREATE INDEX "event_message_id" ON "event" ("message_id");
CREATE INDEX "event_backend_id" ON "event" ("backend_id");
CREATE INDEX "event_actor_id" ON "event" ("actor_id");
CREATE INDEX "event_action_created_at" ON "event" ("action", "created_at");
CREATE TABLE IF NOT EXISTS "groupmember" ("id" INTEGER NOT NULL PRIMARY KEY, "group_id" INTEGER NOT NULL, "client_id" INTEGER NOT NULL, FOREIGN KEY ("group_id") REFERENCES "group" ("id") ON DELETE CASCADE, FOREIGN KEY ("client_id") REFERENCES "client" ("id") ON DELETE CASCADE);
CREATE INDEX "groupmember_group_id" ON "groupmember" ("group_id");
CREATE INDEX "groupmember_client_id" ON "groupmember" ("client_id");
CREATE UNIQUE INDEX "groupmember_group_id_client_id" ON "groupmember" ("group_id", "client_id");
CREATE TABLE IF NOT EXISTS "healthcheck" ("id" INTEGER NOT NULL PRIMARY KEY, "backend_id" INTEGER NOT NULL, "checked_at" DATETIME NOT NULL, "ok" INTEGER NOT NULL, "outcome" VARCHAR(255) NOT NULL, "detail" TEXT NOT NULL, "duration_ms" INTEGER, "actor_id" INTEGER, FOREIGN KEY ("backend_id") REFERENCES "backend" ("id") ON DELETE CASCADE, FOREIGN KEY ("actor_id") REFERENCES "user" ("id") ON DELETE SET NULL);
CREATE INDEX "healthcheck_backend_id" ON "healthcheck" ("backend_id");
CREATE INDEX "healthcheck_actor_id" ON "healthcheck" ("actor_id");
CREATE INDEX "healthcheck_backend_id_checked_at" ON "healthcheck" ("backend_id", "checked_at");
CREATE TABLE IF NOT EXISTS "idempotencyrecord" ("id" INTEGER NOT NULL PRIMARY KEY, "api_token_id" INTEGER NOT NULL, "key" VARCHAR(255) NOT NULL, "endpoint" VARCHAR(255) NOT NULL, "request_hash" VARCHAR(255) NOT NULL, "status" INTEGER NOT NULL, "response" TEXT NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("api_token_id") REFERENCES "apitoken" ("id") ON DELETE CASCADE);
CREATE INDEX "idempotencyrecord_api_token_id" ON "idempotencyrecord" ("api_token_id");
CREATE UNIQUE INDEX "idempotencyrecord_api_token_id_key_endpoint" ON "idempotencyrecord" ("api_token_id", "key", "endpoint");
CREATE INDEX "idempotencyrecord_created_at" ON "idempotencyrecord" ("created_at");
CREATE TABLE IF NOT EXISTS "incident" ("id" INTEGER NOT NULL PRIMARY KEY, "backend_id" INTEGER NOT NULL, "health" VARCHAR(255) NOT NULL, "started_at" DATETIME NOT NULL, "ended_at" DATETIME, "first_error" TEXT NOT NULL, "alert_sent_at" DATETIME, "recovery_sent_at" DATETIME, FOREIGN KEY ("backend_id") REFERENCES "backend" ("id") ON DELETE CASCADE);
CREATE INDEX "incident_backend_id" ON "incident" ("backend_id");
CREATE TABLE IF NOT EXISTS "job" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(255) NOT NULL, "user_id" INTEGER, "params" TEXT NOT NULL, "total" INTEGER NOT NULL, "done" INTEGER NOT NULL, "state" VARCHAR(255) NOT NULL, "result_path" TEXT, "error" TEXT, "created_at" DATETIME NOT NULL, "finished_at" DATETIME, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL);
CREATE INDEX "job_user_id" ON "job" ("user_id");
CREATE TABLE IF NOT EXISTS "periodicrun" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "last_run_at" DATETIME NOT NULL);
CREATE UNIQUE INDEX "periodicrun_name" ON "periodicrun" ("name");
CREATE TABLE IF NOT EXISTS "retrypolicy" ("id" INTEGER NOT NULL PRIMARY KEY, "channel" VARCHAR(255) NOT NULL, "max_retries" INTEGER NOT NULL, "backoff_delay" REAL NOT NULL, "delay_factor" REAL NOT NULL, "backoff_max_delay" REAL NOT NULL, "jitter" INTEGER NOT NULL);
CREATE UNIQUE INDEX "retrypolicy_channel" ON "retrypolicy" ("channel");
CREATE TABLE IF NOT EXISTS "userpreference" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "log_columns" TEXT NOT NULL, "page_size" INTEGER NOT NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "userpreference_user_id" ON "userpreference" ("user_id");
CREATE TABLE IF NOT EXISTS "workerheartbeat" ("id" INTEGER NOT NULL PRIMARY KEY, "worker_id" VARCHAR(255) NOT NULL, "host" VARCHAR(255) NOT NULL, "pid" INTEGER NOT NULL, "started_at" DATETIME NOT NULL, "last_beat_at" DATETIME NOT NULL);
CREATE UNIQUE INDEX "workerheartbeat_worker_id" ON "workerheartbeat" ("worker_id");
CREATE VIRTUAL TABLE message_fts USING fts5(
        recipient, subject, body_text, content='message', content_rowid='id',
        tokenize='trigram')
/* message_fts(recipient,subject,body_text) */;
CREATE TABLE IF NOT EXISTS 'message_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE IF NOT EXISTS 'message_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS 'message_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE IF NOT EXISTS 'message_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, recipient, subject, body_text)
        VALUES (new.id, new.recipient, new.subject, new.body_text);
    END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, recipient, subject, body_text)
        VALUES ('delete', old.id, old.recipient, old.subject, old.body_text);
    END;
CREATE TRIGGER message_fts_update
        AFTER UPDATE OF recipient, subject, body_text ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, recipient, subject, body_text)
        VALUES ('delete', old.id, old.recipient, old.subject, old.body_text);
        INSERT INTO message_fts(rowid, recipient, subject, body_text)
        VALUES (new.id, new.recipient, new.subject, new.body_text);
    END;
