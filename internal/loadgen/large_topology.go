package loadgen

// The large scenario's system: an online shop of 27 services (32
// service-graph nodes, as each Lambda function is two) behind an API Gateway
// stage and a web frontend. The table is data so that it reads like an
// architecture diagram; large.go resolves the names once in New.

type hostKind uint8

const (
	hostGateway hostKind = iota
	hostECS
	hostEKS
	hostEC2
	hostLambda
)

type callKind uint8

const (
	callService callKind = iota // HTTP to an instrumented service
	callLambda                  // Lambda Invoke (or API Gateway's Lambda integration)
	callDynamo
	callSQS
	callSNS
	callS3
	callSQL
	callHTTP // an external, uninstrumented HTTP API
)

type svcDef struct {
	name    string
	host    hostKind
	dialect dialect
	ops     []*opDef
	// dns is the host name callers put in URLs (and so name their
	// subsegments); empty means the service name.
	dns  string
	port int
	// initMs is a Lambda function's cold-start init range.
	initMs [2]float64
	// frontend services know the end user and record it in "user".
	frontend bool
}

type opDef struct {
	method, path string
	// selfMs is the median of the service's own work; sigma its spread.
	selfMs, sigma float64
	// Own outcome rates: a 4xx (errStatus), a 5xx with an exception, a 429.
	errRate      float64
	errStatus    int
	faultRate    float64
	throttleRate float64
	// slowRate is the share of requests that take 5–30 times longer.
	slowRate float64
	parallel bool
	// longRunning segments are first sent in progress; crashRate of them
	// never complete.
	longRunning bool
	crashRate   float64
	annotations annSet
	calls       []callDef
}

type annSet uint8

const (
	annCustomer   annSet = 1 << iota // customer_tier, region
	annOrderTotal                    // order_total
	annCacheHit                      // cache_hit
	annItemCount                     // item_count
)

type callDef struct {
	kind callKind
	// target is a service or function name, table, queue, topic, bucket,
	// database key or external host.
	target string
	// op is the target operation: "GET /path" for services and external
	// APIs, the AWS operation, or the SQL statement.
	op       string
	prob     float64 // 0 means always
	critical bool    // a failure fails the caller
	n        [2]int  // repetitions; zero means once
	ms       float64 // median latency of a leaf call
	// Leaf outcome rates (the resource's side).
	errRate, faultRate, throttleRate float64
	// retries after a 429 or 503.
	retries int
	async   bool // Lambda InvocationType Event
}

var largeServices = []*svcDef{
	{name: "shop-api/prod", host: hostGateway, dialect: dialectAWS, ops: []*opDef{
		{method: "GET", path: "/v1/products/{id}", selfMs: 2, sigma: 0.3, throttleRate: 0.004,
			calls: []callDef{{kind: callService, target: "mobile-bff", op: "GET /v1/products/{id}", critical: true}}},
		{method: "POST", path: "/v1/orders", selfMs: 2, sigma: 0.3, throttleRate: 0.004,
			calls: []callDef{{kind: callService, target: "mobile-bff", op: "POST /v1/orders", critical: true}}},
		{method: "GET", path: "/v1/orders/{id}", selfMs: 2, sigma: 0.3, throttleRate: 0.004,
			calls: []callDef{{kind: callService, target: "mobile-bff", op: "GET /v1/orders/{id}", critical: true}}},
		{method: "GET", path: "/v1/promotions", selfMs: 2, sigma: 0.3, throttleRate: 0.004,
			calls: []callDef{{kind: callLambda, target: "promo-evaluator", critical: true}}},
	}},
	{name: "web-frontend", host: hostECS, frontend: true, dialect: dialectNode, port: 3000, ops: []*opDef{
		{method: "GET", path: "/products/{id}", selfMs: 9, sigma: 0.4, faultRate: 0.002, slowRate: 0.005,
			annotations: annCustomer, parallel: true, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", prob: 0.7, critical: true},
				{kind: callService, target: "catalog-service", op: "GET /items/{id}", critical: true},
				{kind: callService, target: "pricing-service", op: "GET /prices/{id}", critical: true, retries: 1},
				{kind: callService, target: "recommendation-service", op: "GET /recommendations", prob: 0.8},
				{kind: callService, target: "review-service", op: "GET /reviews/{id}", prob: 0.6},
			}},
		{method: "GET", path: "/search", selfMs: 7, sigma: 0.4, faultRate: 0.002, slowRate: 0.005,
			annotations: annCustomer, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", prob: 0.5, critical: true},
				{kind: callService, target: "search-service", op: "GET /search", critical: true},
				{kind: callService, target: "recommendation-service", op: "GET /recommendations", prob: 0.5},
			}},
		{method: "POST", path: "/cart/items", selfMs: 6, sigma: 0.4, faultRate: 0.002, errRate: 0.01, errStatus: 400,
			annotations: annCustomer, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "cart-service", op: "POST /cart/items", critical: true},
			}},
		{method: "POST", path: "/checkout", selfMs: 12, sigma: 0.4, faultRate: 0.002, slowRate: 0.01,
			annotations: annCustomer | annOrderTotal, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "cart-service", op: "GET /cart", critical: true},
				{kind: callService, target: "order-service", op: "POST /orders", critical: true},
			}},
	}},
	{name: "mobile-bff", host: hostEKS, frontend: true, dns: "internal-mobile-bff-1840362957.us-east-1.elb.amazonaws.com", dialect: dialectGo, ops: []*opDef{
		{method: "GET", path: "/v1/products/{id}", selfMs: 3, sigma: 0.4, faultRate: 0.002,
			annotations: annCustomer, parallel: true, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "catalog-service", op: "GET /items/{id}", critical: true},
				{kind: callService, target: "pricing-service", op: "GET /prices/{id}", critical: true, retries: 1},
				{kind: callService, target: "inventory-service", op: "GET /stock/{id}", critical: true},
			}},
		{method: "POST", path: "/v1/orders", selfMs: 4, sigma: 0.4, faultRate: 0.002, errRate: 0.01, errStatus: 422,
			annotations: annCustomer | annOrderTotal, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "user-service", op: "GET /users/{id}", critical: true},
				{kind: callService, target: "order-service", op: "POST /orders", critical: true},
			}},
		{method: "GET", path: "/v1/orders/{id}", selfMs: 3, sigma: 0.4, faultRate: 0.002,
			annotations: annCustomer, calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "order-service", op: "GET /orders/{id}", critical: true},
			}},
	}},
	{name: "admin-portal", host: hostEC2, frontend: true, dialect: dialectPython, dns: "admin.shop.internal", port: 8000, ops: []*opDef{
		{method: "GET", path: "/admin/orders", selfMs: 25, sigma: 0.5, faultRate: 0.003,
			calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callSQL, target: "orders-replica", op: "SELECT o.id, o.status, o.total_cents, o.created_at, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > %s ORDER BY o.created_at DESC LIMIT %s", ms: 12, n: [2]int{1, 3}},
				{kind: callService, target: "order-service", op: "GET /orders", critical: true},
			}},
		{method: "GET", path: "/admin/reports/sales", selfMs: 40, sigma: 0.5, longRunning: true,
			calls: []callDef{
				{kind: callService, target: "auth-service", op: "POST /sessions/validate", critical: true},
				{kind: callService, target: "reporting-service", op: "GET /reports/sales", critical: true},
			}},
	}},
	{name: "auth-service", host: hostEC2, dialect: dialectGo, dns: "auth.shop.internal", port: 8443, ops: []*opDef{
		{method: "POST", path: "/sessions/validate", selfMs: 1.2, sigma: 0.3, errRate: 0.012, errStatus: 401, faultRate: 0.001,
			calls: []callDef{{kind: callDynamo, target: "sessions", op: "GetItem", ms: 3, critical: true, faultRate: 0.0005}}},
	}},
	{name: "catalog-service", host: hostEC2, dialect: dialectGo, dns: "catalog.shop.internal", port: 8080, ops: []*opDef{
		{method: "GET", path: "/items/{id}", selfMs: 2, sigma: 0.4, errRate: 0.01, errStatus: 404, faultRate: 0.003, slowRate: 0.01,
			annotations: annCacheHit, calls: []callDef{
				{kind: callSQL, target: "catalog", op: "SELECT i.id, i.sku, i.title, i.description, i.brand_id, i.category_id FROM items i WHERE i.id = $1", ms: 2.5, critical: true, faultRate: 0.001},
				{kind: callSQL, target: "catalog", op: "SELECT v.id, v.size, v.color, v.image_key FROM variants v WHERE v.item_id = $1", ms: 2, prob: 0.5, critical: true},
				{kind: callService, target: "media-service", op: "GET /media/{id}/thumbnail", prob: 0.15},
			}},
		{method: "GET", path: "/items", selfMs: 3, sigma: 0.4, faultRate: 0.002, slowRate: 0.01,
			annotations: annCacheHit, calls: []callDef{
				// One query per item: past 20 subsegments the Go SDK streams.
				{kind: callSQL, target: "catalog", op: "SELECT i.id, i.sku, i.title, i.brand_id FROM items i WHERE i.id = $1", ms: 1.2, n: [2]int{4, 32}, critical: true},
			}},
	}},
	{name: "pricing-service", host: hostEKS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "GET", path: "/prices/{id}", selfMs: 1.5, sigma: 0.3, throttleRate: 0.01, faultRate: 0.001,
			annotations: annCacheHit, calls: []callDef{
				{kind: callDynamo, target: "prices", op: "GetItem", ms: 3, critical: true},
				{kind: callService, target: "tax-service", op: "GET /tax", prob: 0.6, critical: true},
			}},
	}},
	{name: "tax-service", host: hostEC2, dialect: dialectPython, dns: "tax.shop.internal", port: 8000, ops: []*opDef{
		{method: "GET", path: "/tax", selfMs: 3, sigma: 0.3, faultRate: 0.001, calls: []callDef{
			{kind: callHTTP, target: "api.taxjar.com", op: "POST /v2/taxes", prob: 0.7, ms: 45, critical: true, faultRate: 0.004, throttleRate: 0.002, retries: 1},
		}},
	}},
	{name: "inventory-service", host: hostEKS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "GET", path: "/stock/{id}", selfMs: 1, sigma: 0.3, faultRate: 0.001, calls: []callDef{
			{kind: callDynamo, target: "inventory", op: "GetItem", ms: 3, critical: true},
		}},
		{method: "POST", path: "/reservations", selfMs: 2, sigma: 0.3, faultRate: 0.001, calls: []callDef{
			{kind: callDynamo, target: "inventory", op: "UpdateItem", ms: 5, critical: true, errRate: 0.02},
			{kind: callSQS, target: "inventory-events", op: "SendMessage", ms: 6, critical: true},
		}},
	}},
	{name: "user-service", host: hostEC2, dialect: dialectGo, dns: "users.shop.internal", port: 8080, ops: []*opDef{
		{method: "GET", path: "/users/{id}", selfMs: 1.5, sigma: 0.3, errRate: 0.004, errStatus: 404, faultRate: 0.001,
			calls: []callDef{
				{kind: callSQL, target: "users", op: "SELECT id, email, display_name, tier, locale, created_at FROM users WHERE id = ?", ms: 1.8, critical: true},
				{kind: callService, target: "loyalty-service", op: "GET /points/{id}", prob: 0.5},
			}},
	}},
	{name: "loyalty-service", host: hostEC2, dialect: dialectPython, dns: "loyalty.shop.internal", port: 8000, ops: []*opDef{
		{method: "GET", path: "/points/{id}", selfMs: 4, sigma: 0.4, faultRate: 0.005, calls: []callDef{
			{kind: callDynamo, target: "loyalty-points", op: "GetItem", ms: 4, critical: true},
		}},
	}},
	{name: "search-service", host: hostEKS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "GET", path: "/search", selfMs: 3, sigma: 0.4, errRate: 0.01, errStatus: 400, faultRate: 0.002, slowRate: 0.02,
			calls: []callDef{
				{kind: callHTTP, target: "vpc-products-7kq2mzx4rj6tdw3p.us-east-1.es.amazonaws.com", op: "POST /products/_search", ms: 18, critical: true, faultRate: 0.002},
				{kind: callService, target: "catalog-service", op: "GET /items", critical: true},
			}},
	}},
	{name: "recommendation-service", host: hostEKS, dialect: dialectPython, port: 8000, ops: []*opDef{
		{method: "GET", path: "/recommendations", selfMs: 15, sigma: 0.5, faultRate: 0.01, slowRate: 0.03,
			calls: []callDef{
				{kind: callDynamo, target: "user-events", op: "Query", ms: 8, critical: true},
				{kind: callS3, target: "shop-ml-models", op: "GetObject", prob: 0.1, ms: 35, critical: true},
			}},
	}},
	{name: "review-service", host: hostECS, dialect: dialectNode, port: 3000, ops: []*opDef{
		{method: "GET", path: "/reviews/{id}", selfMs: 4, sigma: 0.4, faultRate: 0.003, calls: []callDef{
			{kind: callSQL, target: "reviews", op: "SELECT r.id, r.rating, r.title, r.body, r.author_name, r.created_at FROM reviews r WHERE r.item_id = $1 ORDER BY r.helpful_votes DESC LIMIT 10", ms: 4, critical: true},
		}},
	}},
	{name: "cart-service", host: hostECS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "GET", path: "/cart", selfMs: 1.5, sigma: 0.3, faultRate: 0.001, annotations: annItemCount, calls: []callDef{
			{kind: callDynamo, target: "carts", op: "GetItem", ms: 3, critical: true},
		}},
		{method: "POST", path: "/cart/items", selfMs: 2, sigma: 0.3, faultRate: 0.001, annotations: annItemCount, calls: []callDef{
			{kind: callDynamo, target: "carts", op: "GetItem", ms: 3, critical: true},
			{kind: callService, target: "inventory-service", op: "GET /stock/{id}", critical: true},
			{kind: callService, target: "pricing-service", op: "GET /prices/{id}", critical: true, retries: 1},
			{kind: callDynamo, target: "carts", op: "PutItem", ms: 5, critical: true},
		}},
	}},
	{name: "order-service", host: hostECS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "POST", path: "/orders", selfMs: 4, sigma: 0.4, faultRate: 0.002, slowRate: 0.01,
			annotations: annOrderTotal, calls: []callDef{
				{kind: callService, target: "user-service", op: "GET /users/{id}", critical: true},
				{kind: callService, target: "inventory-service", op: "POST /reservations", critical: true},
				{kind: callService, target: "payment-service", op: "POST /payments", critical: true},
				{kind: callSQL, target: "orders", op: "INSERT INTO orders (id, customer_id, status, total_cents, currency, created_at) VALUES ($1, $2, $3, $4, $5, now())", ms: 3, critical: true, faultRate: 0.001},
				{kind: callSQL, target: "orders", op: "INSERT INTO order_items (order_id, item_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)", ms: 2, n: [2]int{1, 5}, critical: true},
				{kind: callSQS, target: "order-events", op: "SendMessage", ms: 6},
				{kind: callSNS, target: "order-notifications", op: "Publish", ms: 8},
				{kind: callLambda, target: "receipt-generator", prob: 0.9, async: true},
				{kind: callService, target: "notification-service", op: "POST /notifications", prob: 0.8},
			}},
		{method: "GET", path: "/orders/{id}", selfMs: 2, sigma: 0.3, errRate: 0.01, errStatus: 404, faultRate: 0.001,
			calls: []callDef{
				{kind: callSQL, target: "orders", op: "SELECT id, customer_id, status, total_cents, currency, created_at FROM orders WHERE id = $1", ms: 2, critical: true},
				{kind: callSQL, target: "orders", op: "SELECT item_id, quantity, unit_price_cents FROM order_items WHERE order_id = $1", ms: 2, critical: true},
				{kind: callService, target: "shipping-service", op: "GET /shipments/{id}", prob: 0.7},
			}},
		{method: "GET", path: "/orders", selfMs: 3, sigma: 0.4, faultRate: 0.001, calls: []callDef{
			{kind: callSQL, target: "orders", op: "SELECT id, customer_id, status, total_cents, created_at FROM orders WHERE created_at > $1 ORDER BY created_at DESC LIMIT 50", ms: 9, critical: true},
		}},
	}},
	{name: "payment-service", host: hostECS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "POST", path: "/payments", selfMs: 3, sigma: 0.3, errRate: 0.015, errStatus: 402, faultRate: 0.001,
			annotations: annOrderTotal, calls: []callDef{
				{kind: callService, target: "fraud-detection", op: "POST /score", critical: true},
				{kind: callHTTP, target: "api.stripe.com", op: "POST /v1/payment_intents", ms: 180, critical: true, throttleRate: 0.015, faultRate: 0.004, retries: 1},
				{kind: callDynamo, target: "payments", op: "PutItem", ms: 5, critical: true},
				{kind: callLambda, target: "audit-logger", async: true},
			}},
	}},
	{name: "fraud-detection", host: hostEKS, dialect: dialectPython, port: 8000, ops: []*opDef{
		{method: "POST", path: "/score", selfMs: 25, sigma: 0.5, faultRate: 0.005, slowRate: 0.03, calls: []callDef{
			{kind: callDynamo, target: "fraud-signals", op: "Query", ms: 7, critical: true},
		}},
	}},
	{name: "shipping-service", host: hostECS, dialect: dialectNode, port: 3000, ops: []*opDef{
		{method: "GET", path: "/shipments/{id}", selfMs: 3, sigma: 0.4, errRate: 0.02, errStatus: 404, faultRate: 0.002, calls: []callDef{
			{kind: callDynamo, target: "shipments", op: "GetItem", ms: 4, critical: true},
			{kind: callHTTP, target: "api.easypost.com", op: "GET /v2/trackers/{id}", prob: 0.5, ms: 120, faultRate: 0.01, throttleRate: 0.005},
		}},
	}},
	{name: "notification-service", host: hostECS, dialect: dialectNode, port: 3000, ops: []*opDef{
		{method: "POST", path: "/notifications", selfMs: 3, sigma: 0.3, faultRate: 0.002, calls: []callDef{
			{kind: callSNS, target: "customer-notifications", op: "Publish", ms: 9, critical: true},
			{kind: callLambda, target: "email-sender", async: true},
		}},
	}},
	{name: "reporting-service", host: hostEC2, dialect: dialectPython, dns: "reports.shop.internal", port: 8000, ops: []*opDef{
		{method: "GET", path: "/reports/sales", selfMs: 60, sigma: 0.5, longRunning: true, crashRate: 0.15, calls: []callDef{
			{kind: callSQL, target: "analytics", op: "SELECT date_trunc(%s, o.created_at) AS day, sum(o.total_cents), count(*) FROM orders o WHERE o.created_at BETWEEN %s AND %s GROUP BY 1 ORDER BY 1", ms: 900, n: [2]int{3, 6}, critical: true, faultRate: 0.01},
			{kind: callS3, target: "shop-reports", op: "PutObject", ms: 60, critical: true},
		}},
	}},
	{name: "media-service", host: hostECS, dialect: dialectGo, port: 8080, ops: []*opDef{
		{method: "GET", path: "/media/{id}/thumbnail", selfMs: 2, sigma: 0.3, faultRate: 0.002, calls: []callDef{
			{kind: callS3, target: "shop-product-media", op: "GetObject", ms: 25, critical: true},
			{kind: callLambda, target: "image-resizer", prob: 0.3, critical: true},
		}},
	}},
	{name: "promo-evaluator", host: hostLambda, dialect: dialectNode, initMs: [2]float64{180, 420}, ops: []*opDef{
		{selfMs: 6, sigma: 0.4, faultRate: 0.01, calls: []callDef{
			{kind: callDynamo, target: "promotions", op: "Query", ms: 6, critical: true},
		}},
	}},
	{name: "image-resizer", host: hostLambda, dialect: dialectPython, initMs: [2]float64{350, 900}, ops: []*opDef{
		{selfMs: 140, sigma: 0.4, faultRate: 0.005, calls: []callDef{
			{kind: callS3, target: "shop-product-media", op: "GetObject", ms: 30, critical: true},
			{kind: callS3, target: "shop-product-media", op: "PutObject", ms: 45, critical: true},
		}},
	}},
	{name: "receipt-generator", host: hostLambda, dialect: dialectGo, initMs: [2]float64{60, 130}, ops: []*opDef{
		{selfMs: 20, sigma: 0.4, faultRate: 0.005, calls: []callDef{
			{kind: callS3, target: "shop-receipts", op: "PutObject", ms: 40, critical: true},
			{kind: callDynamo, target: "orders-ledger", op: "UpdateItem", ms: 6, critical: true},
		}},
	}},
	{name: "email-sender", host: hostLambda, dialect: dialectNode, initMs: [2]float64{160, 380}, ops: []*opDef{
		{selfMs: 8, sigma: 0.4, faultRate: 0.003, calls: []callDef{
			{kind: callHTTP, target: "api.sendgrid.com", op: "POST /v3/mail/send", ms: 90, critical: true, throttleRate: 0.02, faultRate: 0.005, retries: 2},
		}},
	}},
	{name: "audit-logger", host: hostLambda, dialect: dialectPython, initMs: [2]float64{220, 480}, ops: []*opDef{
		{selfMs: 3, sigma: 0.3, faultRate: 0.002, calls: []callDef{
			{kind: callDynamo, target: "audit-log", op: "PutItem", ms: 5, critical: true},
		}},
	}},
}

// largeEntries are the requests that reach the system from outside, with
// their relative weights.
var largeEntries = []struct {
	svc, op string
	weight  int
}{
	{"web-frontend", "GET /products/{id}", 30},
	{"web-frontend", "GET /search", 14},
	{"web-frontend", "POST /cart/items", 10},
	{"web-frontend", "POST /checkout", 6},
	{"shop-api/prod", "GET /v1/products/{id}", 14},
	{"shop-api/prod", "POST /v1/orders", 5},
	{"shop-api/prod", "GET /v1/orders/{id}", 8},
	{"shop-api/prod", "GET /v1/promotions", 6},
	{"admin-portal", "GET /admin/orders", 5},
	{"admin-portal", "GET /admin/reports/sales", 2},
}

// sqlDatabases are the databases callSQL targets name.
var sqlDatabases = map[string]sqlInfo{
	"catalog": {url: "catalog-db.cluster-cxk2m4lq8ztv.us-east-1.rds.amazonaws.com:5432/catalog",
		databaseType: "PostgreSQL", databaseVersion: "15.4", driverVersion: "github.com/lib/pq", user: "catalog_app", preparation: "statement"},
	"users": {url: "users-db.cxk2m4lq8ztv.us-east-1.rds.amazonaws.com:3306/users",
		databaseType: "MySQL", databaseVersion: "8.0.35", driverVersion: "github.com/go-sql-driver/mysql", user: "users_app", preparation: "statement"},
	"orders": {url: "orders-db.cluster-cxk2m4lq8ztv.us-east-1.rds.amazonaws.com:5432/orders",
		databaseType: "PostgreSQL", databaseVersion: "15.4", driverVersion: "github.com/jackc/pgx/v5", user: "orders_app", preparation: "statement"},
	"orders-replica": {url: "orders-db.cluster-ro-cxk2m4lq8ztv.us-east-1.rds.amazonaws.com:5432/orders",
		databaseType: "PostgreSQL", databaseVersion: "15.4", driverVersion: "psycopg2 2.9.9", user: "admin_ro", preparation: "statement"},
	"reviews": {url: "reviews-db.cxk2m4lq8ztv.us-east-1.rds.amazonaws.com:5432/reviews",
		databaseType: "PostgreSQL", databaseVersion: "14.10", driverVersion: "pg 8.11.3", user: "reviews_app", preparation: "statement"},
	"analytics": {url: "analytics.c7hwq2xkd9pl.us-east-1.redshift.amazonaws.com:5439/analytics",
		databaseType: "PostgreSQL", databaseVersion: "8.0.2", driverVersion: "psycopg2 2.9.9", user: "reporting", preparation: "statement"},
}
