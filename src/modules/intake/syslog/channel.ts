/** The pg_notify channel on which a push connector's create/update/toggle/delete/restore/purge is announced to every syslog router. */
export const PUSH_ROUTES_CHANNEL = 'push_connector_routes';
