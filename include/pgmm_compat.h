/*
 * pgmm_compat.h -- run an unmodified libpq program against a pgmm cluster.
 *
 *     cc -include pgmm_compat.h prog.c $(pkg-config --cflags --libs pgmm)
 *
 * PGconn becomes pgmm's cluster connection and libpq's synchronous calls
 * become pgmm's routing calls: PQconnectdb connects to one master and learns
 * the others, PQexec / PQexecParams / PQprepare / PQexecPrepared send each
 * statement to the master that owns its rows, transactions bind to one
 * master, PQcmdTuples of an UPDATE/DELETE without the key counts the rows of
 * every master.  Results stay real libpq PGresults (PQntuples, PQgetvalue,
 * PQclear unchanged).  Calls pgmm cannot honour -- asynchronous execution,
 * pipelines, COPY, large objects, cancellation, notifications, raw sockets,
 * tracing -- do not compile: each is declared "unavailable" with a message
 * saying why, so a PGMMconn can never be passed silently where libpq expects
 * a PGconn.
 *
 * libpq's own header is included first so that its declarations are seen
 * before the names below are redefined.
 */
#ifndef PGMM_COMPAT_H
#define PGMM_COMPAT_H

#include <libpq-fe.h>
#include <libpq-events.h>
#include <pgmm.h>

#if defined(__has_attribute)
#if __has_attribute(unavailable)
#define PGMM_COMPAT_REFUSE(msg) __attribute__((unavailable(msg)))
#elif __has_attribute(error)
#define PGMM_COMPAT_REFUSE(msg) __attribute__((error(msg)))
#endif
#endif
#ifndef PGMM_COMPAT_REFUSE
/* No attribute: the call still fails, at link time (never defined). */
#define PGMM_COMPAT_REFUSE(msg)
#endif

/* Declare pgmm_unsupported_NAME and map NAME onto it. */
#define PGMM_COMPAT_UNSUPPORTED(name, why) \
	extern int pgmm_unsupported_##name(const void *, ...) \
		PGMM_COMPAT_REFUSE("pgmm: " #name " is not supported through pgmm_compat.h: " why);

/* ---------------------------------------------------------------- mapped */

#define PGconn                      PGMMconn

#define PQconnectdb                 pgmm_connect
#define PQconnectdbParams           pgmm_connect_params
#define PQsetdbLogin                pgmm_setdb_login
#define PQfinish                    pgmm_finish
#define PQreset                     pgmm_reset
#define PQstatus                    pgmm_status
#define PQtransactionStatus         pgmm_transaction_status
#define PQerrorMessage              pgmm_conn_error_message

#define PQexec                      pgmm_exec
#define PQexecParams                pgmm_exec_params
#define PQprepare                   pgmm_prepare
#define PQexecPrepared              pgmm_exec_prepared

/* Result accessors that know broadcast totals and pgmm-made errors. */
#define PQcmdTuples                 pgmm_result_cmd_tuples
#define PQcmdStatus                 pgmm_result_cmd_status
#define PQresultErrorMessage        pgmm_result_error_message
#define PQresultErrorField          pgmm_result_error_field

/* Describing the connection: the home master's values. */
#define PQserverVersion             pgmm_server_version
#define PQprotocolVersion           pgmm_protocol_version
#define PQparameterStatus           pgmm_parameter_status
#define PQdb                        pgmm_conn_db
#define PQuser                      pgmm_conn_user
#define PQpass                      pgmm_conn_pass
#define PQhost                      pgmm_conn_host
#define PQport                      pgmm_conn_port
#define PQoptions                   pgmm_conn_options
#define PQbackendPID                pgmm_backend_pid
#define PQclientEncoding            pgmm_client_encoding
#define PQsetClientEncoding         pgmm_set_client_encoding
#define PQconnectionNeedsPassword   pgmm_connection_needs_password
#define PQconnectionUsedPassword    pgmm_connection_used_password
#define PQsslInUse                  pgmm_ssl_in_use

#define PQescapeLiteral             pgmm_escape_literal
#define PQescapeIdentifier          pgmm_escape_identifier
#define PQescapeStringConn          pgmm_escape_string_conn
#define PQescapeByteaConn           pgmm_escape_bytea_conn
#define PQmakeEmptyPGresult         pgmm_make_empty_result

/* Applied to every master's connection, present and future. */
#define PQsetNoticeProcessor        pgmm_set_notice_processor
#define PQsetNoticeReceiver         pgmm_set_notice_receiver
#define PQsetErrorVerbosity         pgmm_set_error_verbosity
#define PQsetErrorContextVisibility pgmm_set_error_context_visibility

/* ---------------------------------------------------------------- refused */

#define PGMM_WHY_ASYNC "the asynchronous API is not supported (pgmm chooses the master per statement); use PQexec, PQexecParams or PQexecPrepared"
#define PGMM_WHY_PIPE "pipeline mode is not supported; send statements one at a time"
#define PGMM_WHY_COPY "COPY is not supported (pgmm cannot route its rows); use INSERT"
#define PGMM_WHY_LO "large objects are not replicated by logical replication"
#define PGMM_WHY_CONN "a cluster connection has no single server connection to expose"

PGMM_COMPAT_UNSUPPORTED(PQconnectStart, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQconnectStartParams, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQconnectPoll, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQresetStart, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQresetPoll, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendQuery, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendQueryParams, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendPrepare, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendQueryPrepared, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendDescribePrepared, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendDescribePortal, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendClosePrepared, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsendClosePortal, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsetSingleRowMode, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsetChunkedRowsMode, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQgetResult, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQisBusy, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQconsumeInput, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsetnonblocking, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQisnonblocking, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQflush, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQsocket, PGMM_WHY_ASYNC)
PGMM_COMPAT_UNSUPPORTED(PQenterPipelineMode, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQexitPipelineMode, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQpipelineSync, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQsendPipelineSync, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQsendFlushRequest, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQpipelineStatus, PGMM_WHY_PIPE)
PGMM_COMPAT_UNSUPPORTED(PQputCopyData, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQputCopyEnd, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQgetCopyData, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQgetline, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQputline, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQgetlineAsync, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQputnbytes, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQendcopy, PGMM_WHY_COPY)
PGMM_COMPAT_UNSUPPORTED(PQgetCancel, "cancellation is not supported")
PGMM_COMPAT_UNSUPPORTED(PQrequestCancel, "cancellation is not supported")
PGMM_COMPAT_UNSUPPORTED(PQcancelCreate, "cancellation is not supported")
PGMM_COMPAT_UNSUPPORTED(PQnotifies, "LISTEN/NOTIFY is not routed (each master has its own)")
PGMM_COMPAT_UNSUPPORTED(PQfn, "the fast-path interface is not supported")
PGMM_COMPAT_UNSUPPORTED(PQdescribePrepared, "describing statements is not supported; run them")
PGMM_COMPAT_UNSUPPORTED(PQdescribePortal, "describing portals is not supported")
PGMM_COMPAT_UNSUPPORTED(PQclosePrepared, "use DEALLOCATE")
PGMM_COMPAT_UNSUPPORTED(PQclosePortal, "portals are not supported")
PGMM_COMPAT_UNSUPPORTED(PQtrace, "tracing is not supported")
PGMM_COMPAT_UNSUPPORTED(PQuntrace, "tracing is not supported")
PGMM_COMPAT_UNSUPPORTED(PQsetTraceFlags, "tracing is not supported")
PGMM_COMPAT_UNSUPPORTED(PQconninfo, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQhostaddr, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQtty, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQsslStruct, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQsslAttribute, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQsslAttributeNames, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQgetssl, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQgssEncInUse, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQgetgssctx, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQconnectionUsedGSSAPI, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQfullProtocolVersion, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQservice, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQchangePassword, "change passwords with the pgmm admin tools on every master")
PGMM_COMPAT_UNSUPPORTED(PQencryptPasswordConn, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQdefaultSSLKeyPassHook_OpenSSL, PGMM_WHY_CONN)
PGMM_COMPAT_UNSUPPORTED(PQregisterEventProc, "event procedures are not supported")
PGMM_COMPAT_UNSUPPORTED(PQsetInstanceData, "event procedures are not supported")
PGMM_COMPAT_UNSUPPORTED(PQinstanceData, "event procedures are not supported")
PGMM_COMPAT_UNSUPPORTED(PQfireResultCreateEvents, "event procedures are not supported")
PGMM_COMPAT_UNSUPPORTED(lo_open, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_close, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_read, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_write, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_lseek, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_lseek64, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_creat, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_create, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_tell, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_tell64, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_truncate, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_truncate64, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_unlink, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_import, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_import_with_oid, PGMM_WHY_LO)
PGMM_COMPAT_UNSUPPORTED(lo_export, PGMM_WHY_LO)

#define PQconnectStart              pgmm_unsupported_PQconnectStart
#define PQconnectStartParams        pgmm_unsupported_PQconnectStartParams
#define PQconnectPoll               pgmm_unsupported_PQconnectPoll
#define PQresetStart                pgmm_unsupported_PQresetStart
#define PQresetPoll                 pgmm_unsupported_PQresetPoll
#define PQsendQuery                 pgmm_unsupported_PQsendQuery
#define PQsendQueryParams           pgmm_unsupported_PQsendQueryParams
#define PQsendPrepare               pgmm_unsupported_PQsendPrepare
#define PQsendQueryPrepared         pgmm_unsupported_PQsendQueryPrepared
#define PQsendDescribePrepared      pgmm_unsupported_PQsendDescribePrepared
#define PQsendDescribePortal        pgmm_unsupported_PQsendDescribePortal
#define PQsendClosePrepared         pgmm_unsupported_PQsendClosePrepared
#define PQsendClosePortal           pgmm_unsupported_PQsendClosePortal
#define PQsetSingleRowMode          pgmm_unsupported_PQsetSingleRowMode
#define PQsetChunkedRowsMode        pgmm_unsupported_PQsetChunkedRowsMode
#define PQgetResult                 pgmm_unsupported_PQgetResult
#define PQisBusy                    pgmm_unsupported_PQisBusy
#define PQconsumeInput              pgmm_unsupported_PQconsumeInput
#define PQsetnonblocking            pgmm_unsupported_PQsetnonblocking
#define PQisnonblocking             pgmm_unsupported_PQisnonblocking
#define PQflush                     pgmm_unsupported_PQflush
#define PQsocket                    pgmm_unsupported_PQsocket
#define PQenterPipelineMode         pgmm_unsupported_PQenterPipelineMode
#define PQexitPipelineMode          pgmm_unsupported_PQexitPipelineMode
#define PQpipelineSync              pgmm_unsupported_PQpipelineSync
#define PQsendPipelineSync          pgmm_unsupported_PQsendPipelineSync
#define PQsendFlushRequest          pgmm_unsupported_PQsendFlushRequest
#define PQpipelineStatus            pgmm_unsupported_PQpipelineStatus
#define PQputCopyData               pgmm_unsupported_PQputCopyData
#define PQputCopyEnd                pgmm_unsupported_PQputCopyEnd
#define PQgetCopyData               pgmm_unsupported_PQgetCopyData
#define PQgetline                   pgmm_unsupported_PQgetline
#define PQputline                   pgmm_unsupported_PQputline
#define PQgetlineAsync              pgmm_unsupported_PQgetlineAsync
#define PQputnbytes                 pgmm_unsupported_PQputnbytes
#define PQendcopy                   pgmm_unsupported_PQendcopy
#define PQgetCancel                 pgmm_unsupported_PQgetCancel
#define PQrequestCancel             pgmm_unsupported_PQrequestCancel
#define PQcancelCreate              pgmm_unsupported_PQcancelCreate
#define PQnotifies                  pgmm_unsupported_PQnotifies
#define PQfn                        pgmm_unsupported_PQfn
#define PQdescribePrepared          pgmm_unsupported_PQdescribePrepared
#define PQdescribePortal            pgmm_unsupported_PQdescribePortal
#define PQclosePrepared             pgmm_unsupported_PQclosePrepared
#define PQclosePortal               pgmm_unsupported_PQclosePortal
#define PQtrace                     pgmm_unsupported_PQtrace
#define PQuntrace                   pgmm_unsupported_PQuntrace
#define PQsetTraceFlags             pgmm_unsupported_PQsetTraceFlags
#define PQconninfo                  pgmm_unsupported_PQconninfo
#define PQhostaddr                  pgmm_unsupported_PQhostaddr
#define PQtty                       pgmm_unsupported_PQtty
#define PQsslStruct                 pgmm_unsupported_PQsslStruct
#define PQsslAttribute              pgmm_unsupported_PQsslAttribute
#define PQsslAttributeNames         pgmm_unsupported_PQsslAttributeNames
#define PQgetssl                    pgmm_unsupported_PQgetssl
#define PQgssEncInUse               pgmm_unsupported_PQgssEncInUse
#define PQgetgssctx                 pgmm_unsupported_PQgetgssctx
#define PQconnectionUsedGSSAPI      pgmm_unsupported_PQconnectionUsedGSSAPI
#define PQfullProtocolVersion       pgmm_unsupported_PQfullProtocolVersion
#define PQservice                   pgmm_unsupported_PQservice
#define PQchangePassword            pgmm_unsupported_PQchangePassword
#define PQencryptPasswordConn       pgmm_unsupported_PQencryptPasswordConn
#define PQdefaultSSLKeyPassHook_OpenSSL pgmm_unsupported_PQdefaultSSLKeyPassHook_OpenSSL
#define PQregisterEventProc         pgmm_unsupported_PQregisterEventProc
#define PQsetInstanceData           pgmm_unsupported_PQsetInstanceData
#define PQinstanceData              pgmm_unsupported_PQinstanceData
#define PQfireResultCreateEvents    pgmm_unsupported_PQfireResultCreateEvents
#define lo_open                     pgmm_unsupported_lo_open
#define lo_close                    pgmm_unsupported_lo_close
#define lo_read                     pgmm_unsupported_lo_read
#define lo_write                    pgmm_unsupported_lo_write
#define lo_lseek                    pgmm_unsupported_lo_lseek
#define lo_lseek64                  pgmm_unsupported_lo_lseek64
#define lo_creat                    pgmm_unsupported_lo_creat
#define lo_create                   pgmm_unsupported_lo_create
#define lo_tell                     pgmm_unsupported_lo_tell
#define lo_tell64                   pgmm_unsupported_lo_tell64
#define lo_truncate                 pgmm_unsupported_lo_truncate
#define lo_truncate64               pgmm_unsupported_lo_truncate64
#define lo_unlink                   pgmm_unsupported_lo_unlink
#define lo_import                   pgmm_unsupported_lo_import
#define lo_import_with_oid          pgmm_unsupported_lo_import_with_oid
#define lo_export                   pgmm_unsupported_lo_export

#endif /* PGMM_COMPAT_H */
