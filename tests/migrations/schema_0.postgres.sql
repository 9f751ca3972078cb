-- commlog's schema before versioned migrations (commit fda3d6a), from pg_dump --schema-only

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE public.apitoken (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    owner_id integer,
    token_hash character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_used_at timestamp without time zone,
    revoked_at timestamp without time zone
);

CREATE SEQUENCE public.apitoken_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.apitoken_id_seq OWNED BY public.apitoken.id;

CREATE TABLE public.attempt (
    id integer NOT NULL,
    message_id integer NOT NULL,
    number integer NOT NULL,
    started_at timestamp without time zone NOT NULL,
    finished_at timestamp without time zone,
    outcome character varying(255),
    error_type character varying(255),
    smtp_code integer,
    http_status integer,
    response text,
    traceback text,
    worker character varying(255),
    provider_id character varying(255)
);

CREATE SEQUENCE public.attempt_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.attempt_id_seq OWNED BY public.attempt.id;

CREATE TABLE public.backend (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    channel character varying(255) NOT NULL,
    url text NOT NULL,
    health character varying(255) NOT NULL,
    health_since timestamp without time zone NOT NULL,
    last_test_at timestamp without time zone,
    last_error text,
    failure_alert_emails jsonb NOT NULL,
    is_default boolean NOT NULL,
    fallback_id integer,
    created_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.backend_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.backend_id_seq OWNED BY public.backend.id;

CREATE TABLE public.client (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    email character varying(255),
    phone character varying(255),
    created_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.client_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.client_id_seq OWNED BY public.client.id;

CREATE TABLE public.event (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    action character varying(255) NOT NULL,
    message_id integer,
    backend_id integer,
    actor_id integer,
    from_state character varying(255),
    to_state character varying(255),
    detail text NOT NULL
);

CREATE SEQUENCE public.event_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.event_id_seq OWNED BY public.event.id;

CREATE TABLE public."group" (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    contact_email character varying(255),
    contact_phone character varying(255),
    created_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.group_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.group_id_seq OWNED BY public."group".id;

CREATE TABLE public.groupmember (
    id integer NOT NULL,
    group_id integer NOT NULL,
    client_id integer NOT NULL
);

CREATE SEQUENCE public.groupmember_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.groupmember_id_seq OWNED BY public.groupmember.id;

CREATE TABLE public.healthcheck (
    id integer NOT NULL,
    backend_id integer NOT NULL,
    checked_at timestamp without time zone NOT NULL,
    ok boolean NOT NULL,
    outcome character varying(255) NOT NULL,
    detail text NOT NULL,
    duration_ms integer,
    actor_id integer
);

CREATE SEQUENCE public.healthcheck_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.healthcheck_id_seq OWNED BY public.healthcheck.id;

CREATE TABLE public.idempotencyrecord (
    id integer NOT NULL,
    api_token_id integer NOT NULL,
    key character varying(255) NOT NULL,
    endpoint character varying(255) NOT NULL,
    request_hash character varying(255) NOT NULL,
    status integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.idempotencyrecord_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.idempotencyrecord_id_seq OWNED BY public.idempotencyrecord.id;

CREATE TABLE public.incident (
    id integer NOT NULL,
    backend_id integer NOT NULL,
    health character varying(255) NOT NULL,
    started_at timestamp without time zone NOT NULL,
    ended_at timestamp without time zone,
    first_error text NOT NULL,
    alert_sent_at timestamp without time zone,
    recovery_sent_at timestamp without time zone
);

CREATE SEQUENCE public.incident_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.incident_id_seq OWNED BY public.incident.id;

CREATE TABLE public.job (
    id integer NOT NULL,
    kind character varying(255) NOT NULL,
    user_id integer,
    params jsonb NOT NULL,
    total integer NOT NULL,
    done integer NOT NULL,
    state character varying(255) NOT NULL,
    result_path text,
    error text,
    created_at timestamp without time zone NOT NULL,
    finished_at timestamp without time zone
);

CREATE SEQUENCE public.job_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.job_id_seq OWNED BY public.job.id;

CREATE TABLE public.loginattempt (
    id integer NOT NULL,
    email character varying(255) NOT NULL,
    address character varying(255) NOT NULL,
    at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.loginattempt_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.loginattempt_id_seq OWNED BY public.loginattempt.id;

CREATE TABLE public.message (
    id integer NOT NULL,
    uid character varying(255) NOT NULL,
    channel character varying(255) NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text,
    kind character varying(255) NOT NULL,
    language character varying(255),
    sender_id integer,
    client_id integer,
    group_id integer,
    user_id integer,
    backend_id integer,
    state character varying(255) NOT NULL,
    state_reason text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp without time zone,
    created_at timestamp without time zone NOT NULL,
    queued_at timestamp without time zone,
    sent_at timestamp without time zone,
    resend_of_id integer,
    resolved_by_id integer,
    lease_owner character varying(255),
    lease_until timestamp without time zone,
    api_token_id integer,
    idempotency_key character varying(255),
    metadata jsonb NOT NULL
);

CREATE SEQUENCE public.message_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.message_id_seq OWNED BY public.message.id;

CREATE TABLE public.periodicrun (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    last_run_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.periodicrun_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.periodicrun_id_seq OWNED BY public.periodicrun.id;

CREATE TABLE public.retrypolicy (
    id integer NOT NULL,
    channel character varying(255) NOT NULL,
    max_retries integer NOT NULL,
    backoff_delay real NOT NULL,
    delay_factor real NOT NULL,
    backoff_max_delay real NOT NULL,
    jitter boolean NOT NULL
);

CREATE SEQUENCE public.retrypolicy_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.retrypolicy_id_seq OWNED BY public.retrypolicy.id;

CREATE TABLE public."user" (
    id integer NOT NULL,
    email character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    role character varying(255) NOT NULL,
    password_hash character varying(255) NOT NULL,
    active boolean NOT NULL,
    phone character varying(255),
    session_version integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_login_at timestamp without time zone
);

CREATE SEQUENCE public.user_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.user_id_seq OWNED BY public."user".id;

CREATE TABLE public.userpreference (
    id integer NOT NULL,
    user_id integer NOT NULL,
    log_columns jsonb NOT NULL,
    page_size integer NOT NULL
);

CREATE SEQUENCE public.userpreference_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.userpreference_id_seq OWNED BY public.userpreference.id;

CREATE TABLE public.workerheartbeat (
    id integer NOT NULL,
    worker_id character varying(255) NOT NULL,
    host character varying(255) NOT NULL,
    pid integer NOT NULL,
    started_at timestamp without time zone NOT NULL,
    last_beat_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.workerheartbeat_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.workerheartbeat_id_seq OWNED BY public.workerheartbeat.id;

ALTER TABLE ONLY public.apitoken ALTER COLUMN id SET DEFAULT nextval('public.apitoken_id_seq'::regclass);

ALTER TABLE ONLY public.attempt ALTER COLUMN id SET DEFAULT nextval('public.attempt_id_seq'::regclass);

ALTER TABLE ONLY public.backend ALTER COLUMN id SET DEFAULT nextval('public.backend_id_seq'::regclass);

ALTER TABLE ONLY public.client ALTER COLUMN id SET DEFAULT nextval('public.client_id_seq'::regclass);

ALTER TABLE ONLY public.event ALTER COLUMN id SET DEFAULT nextval('public.event_id_seq'::regclass);

ALTER TABLE ONLY public."group" ALTER COLUMN id SET DEFAULT nextval('public.group_id_seq'::regclass);

ALTER TABLE ONLY public.groupmember ALTER COLUMN id SET DEFAULT nextval('public.groupmember_id_seq'::regclass);

ALTER TABLE ONLY public.healthcheck ALTER COLUMN id SET DEFAULT nextval('public.healthcheck_id_seq'::regclass);

ALTER TABLE ONLY public.idempotencyrecord ALTER COLUMN id SET DEFAULT nextval('public.idempotencyrecord_id_seq'::regclass);

ALTER TABLE ONLY public.incident ALTER COLUMN id SET DEFAULT nextval('public.incident_id_seq'::regclass);

ALTER TABLE ONLY public.job ALTER COLUMN id SET DEFAULT nextval('public.job_id_seq'::regclass);

ALTER TABLE ONLY public.loginattempt ALTER COLUMN id SET DEFAULT nextval('public.loginattempt_id_seq'::regclass);

ALTER TABLE ONLY public.message ALTER COLUMN id SET DEFAULT nextval('public.message_id_seq'::regclass);

ALTER TABLE ONLY public.periodicrun ALTER COLUMN id SET DEFAULT nextval('public.periodicrun_id_seq'::regclass);

ALTER TABLE ONLY public.retrypolicy ALTER COLUMN id SET DEFAULT nextval('public.retrypolicy_id_seq'::regclass);

ALTER TABLE ONLY public."user" ALTER COLUMN id SET DEFAULT nextval('public.user_id_seq'::regclass);

ALTER TABLE ONLY public.userpreference ALTER COLUMN id SET DEFAULT nextval('public.userpreference_id_seq'::regclass);

ALTER TABLE ONLY public.workerheartbeat ALTER COLUMN id SET DEFAULT nextval('public.workerheartbeat_id_seq'::regclass);

ALTER TABLE ONLY public.apitoken
    ADD CONSTRAINT apitoken_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.attempt
    ADD CONSTRAINT attempt_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.backend
    ADD CONSTRAINT backend_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.client
    ADD CONSTRAINT client_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public."group"
    ADD CONSTRAINT group_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.groupmember
    ADD CONSTRAINT groupmember_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.healthcheck
    ADD CONSTRAINT healthcheck_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.idempotencyrecord
    ADD CONSTRAINT idempotencyrecord_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.incident
    ADD CONSTRAINT incident_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.job
    ADD CONSTRAINT job_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.loginattempt
    ADD CONSTRAINT loginattempt_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.periodicrun
    ADD CONSTRAINT periodicrun_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.retrypolicy
    ADD CONSTRAINT retrypolicy_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.userpreference
    ADD CONSTRAINT userpreference_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workerheartbeat
    ADD CONSTRAINT workerheartbeat_pkey PRIMARY KEY (id);

CREATE INDEX apitoken_owner_id ON public.apitoken USING btree (owner_id);

CREATE UNIQUE INDEX apitoken_token_hash ON public.apitoken USING btree (token_hash);

CREATE INDEX attempt_message_id ON public.attempt USING btree (message_id);

CREATE UNIQUE INDEX attempt_message_id_number ON public.attempt USING btree (message_id, number);

CREATE INDEX backend_channel_is_default ON public.backend USING btree (channel, is_default);

CREATE INDEX backend_fallback_id ON public.backend USING btree (fallback_id);

CREATE UNIQUE INDEX backend_name ON public.backend USING btree (name);

CREATE INDEX event_action_created_at ON public.event USING btree (action, created_at);

CREATE INDEX event_actor_id ON public.event USING btree (actor_id);

CREATE INDEX event_backend_id ON public.event USING btree (backend_id);

CREATE INDEX event_message_id ON public.event USING btree (message_id);

CREATE INDEX groupmember_client_id ON public.groupmember USING btree (client_id);

CREATE INDEX groupmember_group_id ON public.groupmember USING btree (group_id);

CREATE UNIQUE INDEX groupmember_group_id_client_id ON public.groupmember USING btree (group_id, client_id);

CREATE INDEX healthcheck_actor_id ON public.healthcheck USING btree (actor_id);

CREATE INDEX healthcheck_backend_id ON public.healthcheck USING btree (backend_id);

CREATE INDEX healthcheck_backend_id_checked_at ON public.healthcheck USING btree (backend_id, checked_at);

CREATE INDEX idempotencyrecord_api_token_id ON public.idempotencyrecord USING btree (api_token_id);

CREATE UNIQUE INDEX idempotencyrecord_api_token_id_key_endpoint ON public.idempotencyrecord USING btree (api_token_id, key, endpoint);

CREATE INDEX idempotencyrecord_created_at ON public.idempotencyrecord USING btree (created_at);

CREATE INDEX incident_backend_id ON public.incident USING btree (backend_id);

CREATE INDEX job_user_id ON public.job USING btree (user_id);

CREATE INDEX loginattempt_address_at ON public.loginattempt USING btree (address, at);

CREATE INDEX loginattempt_at ON public.loginattempt USING btree (at);

CREATE INDEX loginattempt_email_at ON public.loginattempt USING btree (email, at);

CREATE INDEX message_api_token_id ON public.message USING btree (api_token_id);

CREATE UNIQUE INDEX message_api_token_id_idempotency_key ON public.message USING btree (api_token_id, idempotency_key);

CREATE INDEX message_backend_id ON public.message USING btree (backend_id);

CREATE INDEX message_backend_id_id ON public.message USING btree (backend_id, id);

CREATE INDEX message_backend_id_state ON public.message USING btree (backend_id, state);

CREATE INDEX message_channel_id ON public.message USING btree (channel, id);

CREATE INDEX message_client_id ON public.message USING btree (client_id);

CREATE INDEX message_client_id_id ON public.message USING btree (client_id, id);

CREATE INDEX message_client_id_id_state ON public.message USING btree (client_id, id, state);

CREATE INDEX message_created_at ON public.message USING btree (created_at);

CREATE INDEX message_group_id ON public.message USING btree (group_id);

CREATE INDEX message_group_id_id ON public.message USING btree (group_id, id);

CREATE INDEX message_group_id_id_state ON public.message USING btree (group_id, id, state);

CREATE INDEX message_kind_id ON public.message USING btree (kind, id);

CREATE INDEX message_recipient_lower ON public.message USING btree (lower(recipient));

CREATE INDEX message_resend_of_id ON public.message USING btree (resend_of_id);

CREATE INDEX message_resolved_by_id ON public.message USING btree (resolved_by_id);

CREATE INDEX message_sender_id ON public.message USING btree (sender_id);

CREATE INDEX message_sender_id_id ON public.message USING btree (sender_id, id);

CREATE INDEX message_sender_id_id_state ON public.message USING btree (sender_id, id, state);

CREATE INDEX message_sent_at ON public.message USING btree (sent_at);

CREATE INDEX message_state_id ON public.message USING btree (state, id);

CREATE INDEX message_state_lease_until ON public.message USING btree (state, lease_until);

CREATE INDEX message_state_next_attempt_at ON public.message USING btree (state, next_attempt_at);

CREATE INDEX message_text_trgm ON public.message USING gin ((((((recipient || ' '::text) || subject) || ' '::text) || body_text)) public.gin_trgm_ops);

CREATE UNIQUE INDEX message_uid ON public.message USING btree (uid);

CREATE INDEX message_user_id ON public.message USING btree (user_id);

CREATE INDEX message_user_id_id ON public.message USING btree (user_id, id);

CREATE INDEX message_user_id_id_sender_id_state ON public.message USING btree (user_id, id, sender_id, state);

CREATE UNIQUE INDEX periodicrun_name ON public.periodicrun USING btree (name);

CREATE UNIQUE INDEX retrypolicy_channel ON public.retrypolicy USING btree (channel);

CREATE UNIQUE INDEX user_email ON public."user" USING btree (email);

CREATE UNIQUE INDEX userpreference_user_id ON public.userpreference USING btree (user_id);

CREATE UNIQUE INDEX workerheartbeat_worker_id ON public.workerheartbeat USING btree (worker_id);

ALTER TABLE ONLY public.apitoken
    ADD CONSTRAINT apitoken_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.attempt
    ADD CONSTRAINT attempt_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.message(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.backend
    ADD CONSTRAINT backend_fallback_id_fkey FOREIGN KEY (fallback_id) REFERENCES public.backend(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_backend_id_fkey FOREIGN KEY (backend_id) REFERENCES public.backend(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.message(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.groupmember
    ADD CONSTRAINT groupmember_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.client(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.groupmember
    ADD CONSTRAINT groupmember_group_id_fkey FOREIGN KEY (group_id) REFERENCES public."group"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.healthcheck
    ADD CONSTRAINT healthcheck_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.healthcheck
    ADD CONSTRAINT healthcheck_backend_id_fkey FOREIGN KEY (backend_id) REFERENCES public.backend(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.idempotencyrecord
    ADD CONSTRAINT idempotencyrecord_api_token_id_fkey FOREIGN KEY (api_token_id) REFERENCES public.apitoken(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.incident
    ADD CONSTRAINT incident_backend_id_fkey FOREIGN KEY (backend_id) REFERENCES public.backend(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.job
    ADD CONSTRAINT job_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_api_token_id_fkey FOREIGN KEY (api_token_id) REFERENCES public.apitoken(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_backend_id_fkey FOREIGN KEY (backend_id) REFERENCES public.backend(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.client(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_group_id_fkey FOREIGN KEY (group_id) REFERENCES public."group"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_resend_of_id_fkey FOREIGN KEY (resend_of_id) REFERENCES public.message(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_resolved_by_id_fkey FOREIGN KEY (resolved_by_id) REFERENCES public.message(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.message
    ADD CONSTRAINT message_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.userpreference
    ADD CONSTRAINT userpreference_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;

