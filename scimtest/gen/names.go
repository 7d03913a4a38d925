package gen

var givenNames = []string{
	"james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda",
	"david", "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica",
	"thomas", "sarah", "charles", "karen", "chris", "lisa", "daniel", "nancy",
	"matthew", "betty", "anthony", "sandra", "mark", "margaret", "donald", "ashley",
	"steven", "kimberly", "andrew", "emily", "paul", "donna", "joshua", "michelle",
	"kenneth", "carol", "kevin", "amanda", "brian", "melissa", "george", "deborah",
	"wei", "priya", "ahmed", "fatima", "hiroshi", "olga", "kwame", "ana",
}

var familyNames = []string{
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
	"rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas",
	"taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
	"harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young",
	"allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores",
	"green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell",
	"chen", "patel", "kim", "okafor", "ivanova", "tanaka", "mensah", "silva",
}

// accented names, in the case an IdP would hold them.
var accentedGiven = []string{
	"José", "Zoë", "François", "Søren", "Jürgen", "Inês", "Łukasz", "Ángela",
	"Björn", "Çelik", "Dvořák", "Eléonore", "Håkon", "Núñez", "Ødegård", "Renée",
}

// orgNames are the child organizations' names, in order.
var orgNames = []string{"hq", "regional-west", "regional-east", "field-ops", "research"}
