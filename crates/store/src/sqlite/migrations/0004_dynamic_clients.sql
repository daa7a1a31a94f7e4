-- Clients created through POST /register (RFC 7591) are marked in their document
-- (`dynamically_registered`, see store::codec): their redirect URIs get no automatic
-- redirects and consent pages label them. Clients registered before this version are
-- recognised by the `dyn_` prefix /register gives every client id.
UPDATE clients
SET data = json_set(data, '$.dynamically_registered', json('true'))
WHERE client_id LIKE 'dyn\_%' ESCAPE '\';
