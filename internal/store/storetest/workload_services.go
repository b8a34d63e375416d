package storetest

// The simulated system: which services exist, what they run on, which SDK
// they use and what they call.

// service describes one instrumented service of the simulated system.
type service struct {
	name     string
	sdk      sdkFlavor
	platform string // "ec2", "ecs", "eks", "lambda"
	host     string
	paths    []string
	calls    []call
	users    bool
	version  string
}

type sdkFlavor int

const (
	sdkGo sdkFlavor = iota
	sdkNode
	sdkPython
)

// call is a downstream call a service may make: to another service (traced
// HTTP), to an AWS service, to SQL, or to an uninstrumented HTTP API.
type call struct {
	kind   string // "service", "dynamodb", "sqs", "s3", "sns", "sql", "http", "local"
	target string // service name, table, queue, bucket, topic, database, host
	op     []string
	p      float64 // probability per request
}

var services = map[string]*service{
	"frontend-web": {name: "frontend-web", sdk: sdkNode, platform: "ecs", host: "www.example-shop.com",
		paths: []string{"/", "/products", "/products/{id}", "/cart", "/checkout", "/account"},
		calls: []call{{"service", "catalog-api", nil, 0.8}, {"service", "cart-service", nil, 0.5},
			{"service", "user-profile", nil, 0.4}, {"service", "checkout-api", nil, 0.15}},
		users: true, version: "2.14.3"},
	"api-gateway": {name: "orders-gateway/prod", sdk: sdkGo, platform: "lambda", host: "api.example-shop.com",
		paths: []string{"/v1/orders", "/v1/orders/{id}", "/v1/payments"},
		calls: []call{{"service", "checkout-api", nil, 0.7}, {"service", "payment-worker", nil, 0.3}}},
	"catalog-api": {name: "catalog-api", sdk: sdkGo, platform: "eks", host: "catalog.internal",
		paths: []string{"/api/products", "/api/products/{id}", "/api/search"},
		calls: []call{{"dynamodb", "products", []string{"GetItem", "Query", "BatchGetItem"}, 0.9},
			{"s3", "catalog-images-prod", []string{"GetObject", "HeadObject"}, 0.2},
			{"http", "search.elastic.internal", []string{"POST"}, 0.3}},
		version: "1.42.0"},
	"cart-service": {name: "cart-service", sdk: sdkPython, platform: "ec2", host: "cart.internal",
		paths: []string{"/cart", "/cart/items", "/cart/items/{id}"},
		calls: []call{{"dynamodb", "carts", []string{"GetItem", "PutItem", "UpdateItem"}, 0.95},
			{"local", "render_cart", nil, 0.5}},
		version: "0.9.12"},
	"user-profile": {name: "user-profile", sdk: sdkGo, platform: "ecs", host: "users.internal",
		paths: []string{"/users/{id}", "/users/{id}/preferences"},
		calls: []call{{"sql", "users@users-db.cluster-c1x2y3.us-east-1.rds.amazonaws.com", nil, 0.9},
			{"service", "notification-lambda", nil, 0.05}},
		version: "3.0.1"},
	"checkout-api": {name: "checkout-api", sdk: sdkGo, platform: "ecs", host: "checkout.internal",
		paths: []string{"/api/v1/checkout", "/api/v1/orders"},
		calls: []call{{"service", "payment-worker", nil, 0.8}, {"dynamodb", "orders", []string{"PutItem", "TransactWriteItems"}, 0.9},
			{"sqs", "https://sqs.us-east-1.amazonaws.com/123456789012/order-events", []string{"SendMessage"}, 0.7},
			{"service", "inventory", nil, 0.6}},
		version: "5.3.0"},
	"payment-worker": {name: "payment-worker", sdk: sdkNode, platform: "eks", host: "payments.internal",
		paths:   []string{"/charge", "/refund"},
		calls:   []call{{"http", "api.stripe.com", []string{"POST"}, 0.9}, {"sns", "arn:aws:sns:us-east-1:123456789012:payment-events", []string{"Publish"}, 0.5}},
		version: "1.8.0"},
	"inventory": {name: "inventory", sdk: sdkPython, platform: "ecs", host: "inventory.internal",
		paths: []string{"/reserve", "/release", "/stock/{sku}"},
		calls: []call{{"sql", "inventory@inventory-db.cluster-c1x2y3.us-east-1.rds.amazonaws.com", nil, 0.95},
			{"dynamodb", "stock-cache", []string{"GetItem", "UpdateItem"}, 0.4}},
		version: "2.0.7"},
	"notification-lambda": {name: "notification-lambda", sdk: sdkNode, platform: "lambda", host: "",
		paths: []string{""},
		calls: []call{{"sns", "arn:aws:sns:us-east-1:123456789012:user-notify", []string{"Publish"}, 0.9}}},
}

var entryServices = []string{"frontend-web", "frontend-web", "frontend-web", "api-gateway", "api-gateway", "catalog-api"}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"okhttp/4.12.0",
	"Go-http-client/1.1",
}
