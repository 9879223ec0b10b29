module example.com/packfixture

go 1.26
