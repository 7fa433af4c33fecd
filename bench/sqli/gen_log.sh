#!/bin/sh
# Writes a realistic combined-format access log of N lines (default 1,000,000) to stdout:
# a shop, a news site and static files, 24 user agents, referers, query strings of 0-4
# parameters, cookies in none; about 0.5 % of the requests are SQL-injection probes.
N=${1:-1000000}
awk -v n="$N" 'BEGIN {
    srand(42);
    split("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36|Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15|Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0|Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148|Googlebot/2.1 (+http://www.google.com/bot.html)|Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)|curl/7.88.1|Wget/1.21", ua, "|");
    split("/index.php|/item.php|/search.php|/news/article.php|/category.php|/cart.php|/login.php|/img/logo.png|/css/site.css|/js/app.js|/favicon.ico|/images/photo|/about.html|/contact.html", path, "|");
    split("id|page|cat|q|sort|lang|ref|sid|utm_source|year", key, "|");
    split("books|music|shoes|tokyo+hotel|cheap+flights|o%27reilly+guide|2008|en|ja|desc|price|new", val, "|");
    split("-1+union+select+1,user(),3--|1%27+or+%271%27=%271|1;waitfor+delay+%270:0:5%27--|1+and+1=convert(int,@@version)--|%27+group+by+1--|1+and+extractvalue(1,concat(0x7e,version()))|x%27;update+pages+set+body=char(60)--|1+and+sleep(5)", atk, "|");
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ");
    t = 0;
    for (i = 0; i < n; i++) {
        t += 0.05;
        s = int(t); d = 1 + int(s / 86400) % 28; r = s % 86400;
        p = path[1 + int(rand() * 14)];
        q = "";
        if (p ~ /php$/) {
            k = int(rand() * 5);
            for (j = 0; j < k; j++)
                q = q (j ? "&" : "?") key[1 + int(rand() * 10)] "=" (rand() < 0.5 ? int(rand() * 100000) : val[1 + int(rand() * 12)]);
            if (rand() < 0.005)
                q = q (q == "" ? "?" : "&") "id=" atk[1 + int(rand() * 8)];
        } else if (p == "/images/photo") p = p int(rand() * 5000) ".jpg";
        ref = rand() < 0.6 ? "http://www.example.jp" path[1 + int(rand() * 7)] : "-";
        printf "%d.%d.%d.%d - - [%02d/Jun/2008:%02d:%02d:%02d +0900] \"GET %s%s HTTP/1.1\" 200 %d \"%s\" \"%s\"\n", 1 + int(rand() * 223), int(rand() * 256), int(rand() * 256), 1 + int(rand() * 254), d, int(r / 3600), int(r % 3600 / 60), r % 60, p, q, 200 + int(rand() * 30000), ref, ua[1 + int(rand() * 8)];
    }
}'
