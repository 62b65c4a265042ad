/** kpg-agent --help. */
export const USAGE = `kpg-agent: elects the primary of a kpg cluster through the Lease NAME-primary and fences a primary that loses it.

Usage: node kpg-agent.cjs [--dry-run | --help]

  --dry-run   check the configuration, print it as JSON, and exit (touches nothing)
  --help      this text

Configuration (environment):
  KPG_CLUSTER, POD_NAMESPACE, POD_NAME, POD_UID, POD_IP     required
  KPG_PG_MAJOR                                             required (15, 9.6...)
  KPG_STREAMING_MODE          asynchronous | synchronous   (asynchronous)
  KPG_LEASE_DURATION_SECONDS  KPG_RENEW_DEADLINE_SECONDS  KPG_RETRY_PERIOD_SECONDS   (10, 6, 1)
  KPG_MAXIMUM_LAG_BEFORE_FAILOVER  bytes                   (1048576)
  KPG_HA_DIR                  shared with postgres         (/run/kpg)
  KPG_PG_SOCKET_DIR  KPG_PG_PORT  KPG_PG_USER  KPG_PG_DATABASE   (/var/run/postgresql, 5432, postgres, postgres)
  KPG_TRIGGER_FILE            promotion below PostgreSQL 12 ($KPG_HA_DIR/promote)
  KPG_AGENT_PORT              peers' endpoint on POD_IP    (8008)
  KPG_HANDOVER_TIMEOUT_SECONDS                             (10)
  KPG_API_TIMEOUT_MS          each API request             (renew deadline / 3)
  KUBERNETES_SERVICE_HOST  KUBERNETES_SERVICE_PORT  KPG_SERVICEACCOUNT_DIR

See src/agent/README.md in the kpg repository.
`;
